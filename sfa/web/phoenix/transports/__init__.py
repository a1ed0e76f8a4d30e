"""How frames reach a :class:`~sfa.web.phoenix.socket.PhoenixSocket`: a WebSocket, or HTTP long-polling."""
