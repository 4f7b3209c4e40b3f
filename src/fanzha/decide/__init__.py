"""Real-time decisions (事中阻断) for calls, SMS, URL visits and payments: rules as data, in memory."""
