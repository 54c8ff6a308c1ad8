module example.com/vetcorpus

go 1.25
