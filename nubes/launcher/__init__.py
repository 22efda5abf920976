"""Starting services: the state directory, the all-in-one process, the `nubes` command."""
