package broker

import "github.com/avatarbus/avatarbus/envelope"

// SendBatchForTest sends evs as one batch at once, without the gathering of Publish, and returns
// each event's answer: a batch of known content, for the tests of what the server does with it.
// Nothing else may publish through p meanwhile.
func SendBatchForTest(p *BatchPublisher, subject string, evs []*envelope.Event) ([]Ack, []error) {
	reqs := make([]*batchReq, len(evs))
	for i, ev := range evs {
		r, err := p.request(subject, ev)
		if err != nil {
			panic(err)
		}
		reqs[i] = r
	}
	p.send(reqs)
	acks, errs := make([]Ack, len(evs)), make([]error, len(evs))
	for i, r := range reqs {
		res := <-r.done
		acks[i], errs[i] = res.ack, res.err
	}
	return acks, errs
}

// ErrBatchNoAck is errBatchNoAck, for the tests of a batch that got no ack.
var ErrBatchNoAck = errBatchNoAck

// InFlightForTest reports whether a batch was sent and waits for its ack, with none queued.
func InFlightForTest(p *BatchPublisher) bool { return len(p.queue) == 0 && p.inFlight.Load() }
