"""The scheduler: pure decisions (:mod:`.decisions`), the loop (:mod:`.scheduler`), its wiring (:mod:`.main`)."""
