"""The isolated sandbox: the environment cache, interpreters, the runner, the probe that runs
inside, the checks of its results and of the logged model's files, and the sandbox stages."""
