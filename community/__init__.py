"""dhome community platform: the service a community (or district) centre runs to receive the
consented alerts of many homes, enrol households, let staff take care of alerts and report
upwards. A client of the DHI interface only: it never imports the hub."""
