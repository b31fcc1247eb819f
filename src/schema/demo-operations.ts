/**
 * GraphiQL's opening query in sandbox mode: a real demo contact, with fields from telli v1 and v2,
 * and its latest calls. The sample contact was reached in its latest call, so the first of the
 * two calls shown is that conversation, with its transcript, and the second the try before it.
 */
export function sandboxDefaultQuery(contactId: string, liveContactId?: string): string {
  return `# Sandbox mode: demo data from the embedded telli emulator.
# Press the run button (or Ctrl/Cmd+Enter) and pick DemoContact.
query DemoContact {
  contact(id: "${contactId}") {
    id
    externalId
    firstName
    lastName
    phoneNumber
    email
    timezone
    status
    inCallSince
    reachedAt
    nextCallAt
    callAttempts
    contactDetails
    # From telli v2 (one more call):
    updatedAt
    properties {
      key
      label
      dataType
      value
    }
    # What the agent did (list-calls: one more call):
    # the conversation that reached the contact, with
    # its transcript, and the try before it.
    calls(first: 2) {
      nodes {
        id
        status
        rawStatus
        direction
        startedAt
        endedAt
        durationMinutes
        agent {
          title
        }
        transcriptMessages {
          role
          content
        }
        outcome
      }
    }
  }
}
${liveContactId ? sandboxLiveOperations(liveContactId) : ''}`;
}

/**
 * GraphiQL's live operations in sandbox mode: the two subscriptions, and a call to start. The
 * sandbox's dialer places the call and sends telli's webhooks to this server.
 */
function sandboxLiveOperations(contactId: string): string {
  return `
# Live updates: telli's webhooks as subscriptions. Here the sandbox is telli's
# dialer: it calls the contact below every few seconds (its autopilot), and
# CallDemoContact starts a call at once. Run a subscription, then watch.
subscription LiveContacts {
  contactStatusChanged {
    contact {
      id
      firstName
      status
      callAttempts
    }
    # status is the contact now: IN_PROGRESS during a call, and
    # REACHED for good once any call has reached them.
    # webhookStatus is telli's word for this change: "pending" when
    # a call starts or ends without reaching them (telli keeps
    # trying), "reached" when it did. So a contact reached before
    # shows REACHED beside "pending" after a call nobody answered.
    status
    webhookStatus
    occurredAt
  }
}

subscription CallsEnding {
  callEnded(contactIds: ["${contactId}"]) {
    contact {
      firstName
      status
      reachedAt
    }
    call {
      id
      status
      durationMinutes
      transcriptMessages {
        role
        content
      }
    }
    occurredAt
  }
}

# Schedules a call: the dialer dials a few seconds later (in a second tab,
# while a subscription runs in the first).
mutation CallDemoContact {
  scheduleCall(input: { contactId: "${contactId}" }) {
    loopId
    contact {
      id
      nextCallAt
    }
    userErrors {
      field
      message
      code
    }
  }
}
`;
}
