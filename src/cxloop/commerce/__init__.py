"""What a store sells and what its customers bought: products, orders, shipments."""
