"""The HTTP contract: request and response models, the views that build
answers from the domain, and the typed client. The domain (`ledger/`) knows
nothing of it; the actors, the CLI, the campaign and the tests import it."""
