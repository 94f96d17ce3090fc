module github.com/baton-dev/baton/go

go 1.22
