"""The adapter target: an adapter plugin run in-process on recorded vendor data or its simulator."""
