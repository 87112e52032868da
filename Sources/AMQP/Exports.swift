// The clients' configurations take a `Backoff`, so every user of the AMQP layer sees it.
@_exported import Backoff
