module example.com/baton

go 1.22
