"""`mfc-validator init`: what a folder holding a models-from-code script needs to become a project,
inferred from its files alone (`static`: the script is never run) and, with --trace, from the
model run in the validator's sandbox as `validate` runs it (`traced`); the template's
noxfile.py and pre-commit configuration for it (`template`). The command itself is
`validator.commands.init`; the files it writes are rendered by `validator.render.adopt`."""
