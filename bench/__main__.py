"""`make bench`: every benchmark of the project, one after another."""

from bench import credential_store

if __name__ == "__main__":
    credential_store.main()
