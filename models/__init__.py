"""Tables of the three stores, the engines that reach them, and the queries over them."""
