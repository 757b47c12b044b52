"""Case facts: the import contract (the one description of the facts), its vocabulary and parser."""
