package sip

import (
	"github.com/emiago/sipgo"
	sipgosip "github.com/emiago/sipgo/sip"
)

// What the SIP layer keeps after a call, and for how long.
//
// sipgo keeps a finished transaction, with its parsed request and last
// response, for its RFC 3261 timer: 64*T1 = 32 s for an INVITE answered
// with a 2xx (Timer L on the server side, Timer M on the client side) and
// for a non-INVITE request on UDP (Timer J). Its delete() stops neither
// Timer L nor Timer M, so a transaction terminated when its call ends
// stays reachable, with everything its callbacks hold, until they fire.
// At a few hundred calls a second that is most of the heap: about 40 KB
// a call for 32 s before this file (docs/benchmarks.md has the profiles).
//
// The box does what those timers are for itself, in less memory:
//   - It retransmits its 2xx until the ACK (Leg.respond2xx, straight to
//     the transport), so the server transaction is not needed after the
//     2xx is out; a retransmitted INVITE that outlives it is absorbed by
//     its transaction key, which stays known for 64*T1 (knownInvite,
//     recentSet).
//   - A 2xx retransmitted after the client transaction is gone is
//     re-ACKed from the dialog (onStrayResponse).
//   - A BYE's or INFO's transaction is terminated once answered; its key
//     and status are remembered for 64*T1 and a retransmission gets the
//     same status (onBye, onInfo).
//
// So Timer L and Timer M only cover a retransmission crossing the 2xx.
// Other non-INVITE transactions (REGISTER, OPTIONS, SUBSCRIBE, ...) keep
// sipgo's Timer J, but at most maxLingering of them at once (bounded).
func init() {
	sipgosip.Timer_L = 2 * sipgosip.T1
	sipgosip.Timer_M = 2 * sipgosip.T1
}

// maxLingering bounds the answered non-INVITE server transactions kept for
// Timer J. Phones re-registering and sending keep-alives need a few hundred;
// past the bound (a flood) a transaction is terminated as soon as it is
// answered, and a retransmission of it is handled as a new request.
const maxLingering = 4096

// bounded wraps a handler of non-INVITE requests so that at most
// maxLingering of their transactions are alive at once.
func (s *Server) bounded(h sipgo.RequestHandler) sipgo.RequestHandler {
	return func(req *sipgosip.Request, tx sipgosip.ServerTransaction) {
		h(req, tx)
		if s.lingering.Add(1) > maxLingering {
			s.lingering.Add(-1)
			tx.Terminate()
			return
		}
		if !tx.OnTerminate(func(string, error) { s.lingering.Add(-1) }) {
			s.lingering.Add(-1) // already over
		}
	}
}

// onStrayResponse gets the responses no client transaction matched. A 2xx
// to an INVITE is the far end retransmitting because the ACK was lost
// after the transaction ended (Timer M): the dialog's ACK is sent again.
// Anything else is dropped (RFC 3261 §17.1.1.2 passes it to the core,
// which has nothing to do with it).
func (s *Server) onStrayResponse(res *sipgosip.Response) {
	cseq, from, to, id := res.CSeq(), res.From(), res.To(), res.CallID()
	if !res.IsSuccess() || cseq == nil || cseq.MethodName != sipgosip.INVITE || from == nil || to == nil || id == nil {
		s.log.Debug("stray response dropped", "res", res.StartLine())
		return
	}
	key := sipgosip.DialogIDMake(id.Value(), tagOf(from.Params), tagOf(to.Params))
	s.mu.Lock()
	l := s.dialogs[key]
	s.mu.Unlock()
	if l == nil {
		s.log.Debug("2xx for no dialog dropped", "call_id", id.Value())
		return
	}
	l.mu.Lock()
	d := l.uac
	l.mu.Unlock()
	if d == nil || d.key() != key {
		return
	}
	if err := d.ack(); err != nil {
		l.log.Debug("re-ack failed", "error", err)
	}
}
