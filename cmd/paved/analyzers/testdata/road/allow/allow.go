package allow

func f() {
	/* want `PAV001: //paved:allow needs a reason` */ //paved:allow PAV100 todo
	_ = 0                                             /* want `PAV001: //paved:allow needs a rule ID` */ //paved:allow
	_ = 1                                             /* want `PAV001: //paved:allow needs a reason` */  //paved:allow G404
}

//paved:allowed is not a directive.
var _ = 2

//paved:allow G404,PAV105 the shuffle order is shown to no one
var _ = 3
