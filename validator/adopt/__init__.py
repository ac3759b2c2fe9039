"""`mfc-validator init`: what a folder holding a models-from-code script needs to become a project,
inferred from its files (`static`) and from the sandbox's trace of the model loading and
answering (`traced`). The command itself is `validator.commands.init`; the files it writes are
rendered by `validator.render.adopt`."""
