// Package operator owns the standing of a network's operators: strikes for
// answers shown wrong, the quarantine (suspension of every upstream of an
// operator) past the strike limit, and the share of reads each operator
// served. Lie is the one rule for what a wrong answer costs, whether a
// quorum dispute or a failed proof showed it.
package operator
