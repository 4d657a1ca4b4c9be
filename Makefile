# Targets CI and developers call; see README.md.
.PHONY: test test-short fmt vet golden fuzz run

test:        ## the README's test command
	go test -race ./...

vet:         ## static checks
	go vet ./...

fmt:         ## format the code
	gofmt -w $$(git ls-files '*.go')

golden:      ## regenerate the golden envelopes after an intended change
	go test ./platform -update

fuzz:        ## run every fuzz target briefly
	@for pkg in ./verify ./platform ./subjects ./config; do \
	  for t in $$(go test -list 'Fuzz.*' $$pkg | grep ^Fuzz); do \
	    go test -run '^$$' -fuzz "^$$t$$" -fuzztime 15s $$pkg || exit 1; \
	  done; \
	done

run:         ## run on the embedded JetStream
	go run ./cmd/avatarbus serve
