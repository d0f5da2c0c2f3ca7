print("mnist: not yet implemented")
