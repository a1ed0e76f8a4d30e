"""Sound Forge Alchemy: a supervised music server speaking REST and the Phoenix channel protocol."""
