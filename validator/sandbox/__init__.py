"""The isolated sandbox: the environment cache, interpreters, the runner, the probe that runs
inside, the checks of its results, and the sandbox stages."""
