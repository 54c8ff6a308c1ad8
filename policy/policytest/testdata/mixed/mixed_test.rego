package mixed_test

import data.mixed

test_alice_allowed if mixed.allow with input as {"user": "alice"}

test_bob_allowed if mixed.allow with input as {"user": "bob"}

test_prints if {
	print("limit is", data.limits.max)
	data.limits.max == 3
}

test_conflict if mixed.conflict with input as {"x": true}

todo_test_later if false
