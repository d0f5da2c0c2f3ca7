print("segment: not yet implemented")
