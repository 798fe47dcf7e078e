"""`make bench`: the gateway load benchmark (wrk, interleaved configurations, results in
bench/results/latest.md), then the credential-path benchmark when it exists."""

from bench import load

if __name__ == "__main__":
    load.main()
    try:
        from bench import credential_store
    except ImportError:
        credential_store = None  # type: ignore[assignment]
    if credential_store is not None and hasattr(credential_store, "main"):
        credential_store.main()
