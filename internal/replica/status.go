package replica

// Status is what /status shows about the replicas sharing state.
type Status struct {
	ID       string `json:"id"`
	Redis    string `json:"redis"` // "up" or "down"
	Replicas int    `json:"replicas"`
}

// StatusOf is this replica's view of the Redis it shares state through
// and of the replicas that share it.
func StatusOf(l *Link, m *Members) *Status {
	st := &Status{ID: l.ID(), Redis: "down", Replicas: m.Count()}
	if l.Up() {
		st.Redis = "up"
	}
	return st
}
