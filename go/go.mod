module baton.dev/go

go 1.22
