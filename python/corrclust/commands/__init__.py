"""Sub-commands of the ``corrclust`` CLI, one module each (see ``corrclust.cli``)."""
