from ikedecode.cli import main

main()
