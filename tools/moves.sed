# dhome issue 17: rewrite imports after the contract-layer move (old module -> new module: MOVES.md).
# Usage: sed -E -i -f moves.sed $(git ls-files '*.py')     (idempotent: running it twice is harmless)
# Module names are rewritten only on import lines and inside quotes/backticks, never in attribute
# access: `hub.catalog` is also the Hub object's catalog attribute.
# 1. names that left a module which still exists
s/^([[:space:]]*)from hub\.clock import isoformat$/\1from dhi.timefmt import isoformat/
s/^([[:space:]]*)from hub\.registry import check_description$/\1from dhi.checks import check_description/
s/^([[:space:]]*)from hub\.context import ((check_event_report|check_state_report|resolve_capability|ReportableProperties)(, (check_event_report|check_state_report|resolve_capability|ReportableProperties))*)$/\1from dhi.checks import \2/
s/^([[:space:]]*)from hub\.config import format_loc$/\1from dhi.validate import format_loc/
s/^([[:space:]]*)from hub\.bridges import /\1from hub.delivery import /
s/^([[:space:]]*)from hub\.bridges\.factory import build_bridges$/\1from hub.delivery import build_bridges/
# 2. whole modules
s/^([[:space:]]*(from|import)[[:space:]]+)hub\.(models|catalog|errors|validate|specdata)\b/\1dhi.\3/
s/([`"'])hub\.(models|catalog|errors|validate|specdata)\b/\1dhi.\2/g
s/^([[:space:]]*(from|import)[[:space:]]+)hub\.simulate\b/\1hub.cli.simulate/
s/([`"'])hub\.simulate\b/\1hub.cli.simulate/g
s/^([[:space:]]*(from|import)[[:space:]]+)adapters\.mqtt\b/\1adapters.sdk.mqtt/
s/([`"'])adapters\.mqtt\b/\1adapters.sdk.mqtt/g
s/-m hub\.models\.export\b/-m dhi.models.export/g
# 3. file paths in comments, docs and strings
s#\bhub/models(/|\b)#dhi/models\1#g
s#\bhub/(catalog|errors|validate|specdata)\.py\b#dhi/\1.py#g
s#\bhub/simulate\.py\b#hub/cli/simulate.py#g
s#\badapters/mqtt(/|\b)#adapters/sdk/mqtt\1#g
