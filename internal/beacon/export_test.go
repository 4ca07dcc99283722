package beacon

// StoreBytes is the size of the committee chain's store: the keys and
// values of every committee, committee root and update it keeps.
func StoreBytes(c *Client) int {
	it := c.db.NewIterator(nil, nil)
	defer it.Release()
	n := 0
	for it.Next() {
		n += len(it.Key()) + len(it.Value())
	}
	return n
}
