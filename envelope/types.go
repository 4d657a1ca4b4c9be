package envelope

// Canonical event types. Subjects are built from them (see package subjects); consumers filter on
// them; platform tables map their own event names onto them.
const (
	TypeVideoCompleted              = "avatar.video.completed"
	TypeVideoFailed                 = "avatar.video.failed"
	TypeTranslationCompleted        = "avatar.translation.completed"
	TypeTranslationFailed           = "avatar.translation.failed"
	TypePersonaReady                = "avatar.persona.ready"
	TypePersonaFailed               = "avatar.persona.failed"
	TypeBatchCompleted              = "avatar.batch.completed"
	TypeConversationStarted         = "avatar.conversation.started"
	TypeConversationEnded           = "avatar.conversation.ended"
	TypeConversationTranscriptReady = "avatar.conversation.transcript_ready"
	TypeConversationRecordingReady  = "avatar.conversation.recording_ready"
	TypeConversationAnalysisReady   = "avatar.conversation.analysis_ready"
	TypeConversationFailed          = "avatar.conversation.failed"
	TypeVoiceRemovalNotice          = "avatar.voice.removal_notice"
	TypeVoiceRemovalWithdrawn       = "avatar.voice.removal_withdrawn"
	TypeVoiceRemoved                = "avatar.voice.removed"
	TypeVoiceTranscriptionCompleted = "avatar.voice.transcription_completed"
	TypeAccountCreditsLow           = "avatar.account.credits_low"
	TypeAccountCreditsExhausted     = "avatar.account.credits_exhausted"
	TypeVideoStalled                = "avatar.video.stalled"
	TypeUnrecognized                = "avatar.unrecognized"
)

// types lists the catalogue once, in a stable order; catalogue indexes it.
var types = []string{
	TypeVideoCompleted, TypeVideoFailed, TypeTranslationCompleted, TypeTranslationFailed,
	TypePersonaReady, TypePersonaFailed, TypeBatchCompleted,
	TypeConversationStarted, TypeConversationEnded, TypeConversationTranscriptReady,
	TypeConversationRecordingReady, TypeConversationAnalysisReady, TypeConversationFailed,
	TypeVoiceRemovalNotice, TypeVoiceRemovalWithdrawn, TypeVoiceRemoved, TypeVoiceTranscriptionCompleted,
	TypeAccountCreditsLow, TypeAccountCreditsExhausted, TypeVideoStalled, TypeUnrecognized,
}

var catalogue = func() map[string]bool {
	m := make(map[string]bool, len(types))
	for _, t := range types {
		m[t] = true
	}
	return m
}()

// Known reports whether t is a canonical type (avatar.unrecognized included).
func Known(t string) bool { return catalogue[t] }

// Types returns every canonical type, in catalogue order.
func Types() []string { return append([]string(nil), types...) }
