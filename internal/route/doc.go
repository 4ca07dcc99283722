// Package route chooses upstreams for a call and fails over between them:
// candidates ordered by health score, each attempt classified (the answer
// is the result, the node cannot serve it, the node is throttled, the
// attempt failed), and the next candidate tried within an attempt budget
// and the request's deadline.
package route
