package mixed

allow if input.user == "alice"

# conflict is a complete rule with two values for one input: an error.
conflict := 1 if input.x
conflict := 2 if input.x
