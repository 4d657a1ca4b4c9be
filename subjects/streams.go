package subjects

// Default names of avatarbus's streams, and the subject roots of the streams beside the event
// stream. They are here, with the subjects, so that every package (router, replay, config,
// broker, the binary) names them from one place.
const (
	// DefaultStream is the event stream's name (stream.name), bound to <prefix>.>.
	DefaultStream = "AVATAR"
	// DefaultDeadLetterStream is the stream a router's consumers dead-letter to, bound to
	// dlq.<prefix>.>.
	DefaultDeadLetterStream = "AVATAR_DLQ"
	// QuarantineStreamSuffix makes the quarantine stream's default name from the event stream's:
	// AVATAR_QUARANTINE.
	QuarantineStreamSuffix = "_QUARANTINE"
	// ObjectsSuffix makes the object store bucket's name from the event stream's: AVATAR_OBJECTS.
	ObjectsSuffix = "_OBJECTS"
)

// DeadLetterRoot is the first token of dead letters' subjects: an event stored on
// avatar.video.completed.heygen is dead-lettered on dlq.avatar.video.completed.heygen.
const DeadLetterRoot = "dlq"

// DeadLetter returns the subject the dead letter of an event stored on subject is kept on.
func DeadLetter(subject string) string { return Under(DeadLetterRoot, subject) }

// DeadLetterFilter returns the subject the dead-letter stream binds for the events of prefix,
// which also selects them: dlq.<prefix>.>.
func DeadLetterFilter(prefix string) string { return DeadLetterRoot + "." + prefix + ".>" }

// ReplayRoot is the first token avatarbus suggests for the subjects a replay republishes on
// (`avatarbus replay --to-subject replay.debug`): no stream of avatarbus binds it, so a replay
// there is stored only where an operator asks.
const ReplayRoot = "replay"

// Under returns subject republished under prefix (a trailing dot is ignored):
// Under("replay.debug", "avatar.video.completed.heygen") is
// "replay.debug.avatar.video.completed.heygen".
func Under(prefix, subject string) string {
	if n := len(prefix); n > 0 && prefix[n-1] == '.' {
		prefix = prefix[:n-1]
	}
	return prefix + "." + subject
}

// AttemptsStreamSuffix makes the attempts stream's name from the event stream's: AVATAR_ATTEMPTS.
const AttemptsStreamSuffix = "_ATTEMPTS"

// AttemptsRoot is the first token of the subjects route delivery attempts are recorded on:
// attempts.<prefix>.<route>.<event key>.
const AttemptsRoot = "attempts"

// AttemptsFilter returns the subject the attempts stream binds for the routes of prefix:
// attempts.<prefix>.>.
func AttemptsFilter(prefix string) string { return AttemptsRoot + "." + prefix + ".>" }
