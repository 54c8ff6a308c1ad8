package ob

decision := {"allow": input.n == 1, "obligations": {"limit": 10.0, "mask": ["ssn"]}}
