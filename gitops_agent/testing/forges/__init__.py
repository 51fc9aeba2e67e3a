"""Forge API emulators and local git servers for tests (see README.md beside this file)."""
