"""Alert rules and their deliveries: answers, silence and theme spikes."""
