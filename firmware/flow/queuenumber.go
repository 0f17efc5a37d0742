package flow

// queueNumbered is the id of the queue whose number: is num; "" for none.
// An extension that dials a queue's number enters the queue.
func (c *Call) queueNumbered(num string) string {
	if num == "" {
		return ""
	}
	for _, q := range c.snap.Site.Queues {
		if q.Number == num {
			return q.ID
		}
	}
	return ""
}
