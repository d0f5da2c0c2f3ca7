print("bench: placeholder until the bench tool lands")
