"""Pure steps from raw items to storable posts; see ``batch.process_batch``."""
