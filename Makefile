# Targets CI and developers call; see README.md.
.PHONY: test test-short test-long fmt vet golden fuzz soak bench attack run docs

test:        ## the README's test command
	go test -race ./...

test-short:  ## the inner loop, under 60 s on two cores: no floods, builds or clusters (TESTING.md)
	go test -short ./...

test-long:   ## the long reliability runs (~16 minutes)
	go test ./test/reliability -long -timeout 40m

vet:         ## static checks
	go vet ./...

fmt:         ## format the code
	gofmt -w $$(git ls-files '*.go')

golden:      ## regenerate the golden envelopes after an intended change
	go test ./platform -update

fuzz:        ## run every fuzz target briefly (FUZZTIME=1000000x for longer)
	.ci/fuzz

soak:        ## two minutes of signed load on an in-process avatarbus
	go run ./test/reliability/soak -duration 2m -every 10s -workers 8

bench:       ## the side-by-side benchmark harness (see BENCHMARKS.md)
	go run ./test/bench

attack:      ## issue 13's attacks on a built avatarbus, loopback only, ~2 minutes; prints a table
	go run ./test/reliability/attack

run:         ## run on the embedded JetStream
	go run ./cmd/avatarbus serve

docs:        ## regenerate docs/cli.md, then check links, the config reference and the walkthrough
	go generate ./cmd/avatarbus
	go test ./test/docs
