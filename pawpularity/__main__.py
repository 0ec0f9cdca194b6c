from pawpularity.cli import main

main()
