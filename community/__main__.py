from community.cli import main

main()
