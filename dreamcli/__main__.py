from dreamcli.cli.app import main

main()
