"""Switchyard for Python: a protocol v1 client (asyncio, and a blocking wrapper), Ethernet, ARP,
IPv4 and UDP primitives, and a pytest plugin (``switchyard`` fixture) that gives each test a
fabric, its recording and replay."""

from .client import DEFAULT_HOST, DEFAULT_PORT, AsyncClient, ClientError, ConnectionClosed, Endpoint, FabricError, Frame
from .sync import Client
from .wire import PROMISC, Message, MessageType, ProtocolError

__version__ = "0.9.0"

__all__ = [
    "AsyncClient",
    "Client",
    "ClientError",
    "ConnectionClosed",
    "DEFAULT_HOST",
    "DEFAULT_PORT",
    "Endpoint",
    "FabricError",
    "Frame",
    "Message",
    "MessageType",
    "PROMISC",
    "ProtocolError",
]
