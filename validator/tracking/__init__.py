"""The tracking store and server, which every later layer uses: the store and the validation's
run (`store`), what a tracking server's failure looks like and its URI shown without credentials
(`server_check`), and the run's faults: a store that failed mid-run, runs left open (`run_faults`).
Imports mlflow only inside functions: never used by `check`."""
