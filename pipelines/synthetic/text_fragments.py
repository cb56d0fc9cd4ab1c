"""Phrase banks the generator assembles tickets from: per language, per class.

Each class has the same number of subjects and problems in every language, so the generator can
index them with plain arithmetic instead of a per-row lookup.
"""

from __future__ import annotations

CLASSES = ["Billing", "Technical", "Account", "Other"]
LANGUAGES = ["en", "es", "de", "fr", "pt", "it"]

GREETINGS = {
    "en": ["Hello,", "Hi team,", "Good morning,"],
    "es": ["Hola,", "Buenos días,", "Estimado equipo,"],
    "de": ["Hallo,", "Guten Tag,", "Liebes Support-Team,"],
    "fr": ["Bonjour,", "Madame, Monsieur,", "Bonsoir,"],
    "pt": ["Olá,", "Bom dia,", "Prezada equipe,"],
    "it": ["Ciao,", "Buongiorno,", "Gentile supporto,"],
}

CLOSINGS = {
    "en": ["Thanks.", "Best regards.", "Thank you for your help."],
    "es": ["Gracias.", "Saludos cordiales.", "Muchas gracias por su ayuda."],
    "de": ["Danke.", "Mit freundlichen Grüßen.", "Vielen Dank für Ihre Hilfe."],
    "fr": ["Merci.", "Cordialement.", "Merci pour votre aide."],
    "pt": ["Obrigado.", "Atenciosamente.", "Muito obrigado pela ajuda."],
    "it": ["Grazie.", "Cordiali saluti.", "Grazie per l'aiuto."],
}

SUBJECTS = {
    "en": {
        "Billing": ["Charged twice this month", "Refund not received", "Wrong amount on my invoice"],
        "Technical": ["App crashes on startup", "Cannot upload files", "Sync stopped working"],
        "Account": ["Cannot log in", "Change the email on my account", "Close my account"],
        "Other": ["Question about your office hours", "Feedback on the new design", "Partnership inquiry"],
    },
    "es": {
        "Billing": ["Cobro duplicado este mes", "No recibí el reembolso", "Importe incorrecto en la factura"],
        "Technical": ["La aplicación se cierra al abrir", "No puedo subir archivos", "La sincronización no funciona"],
        "Account": ["No puedo iniciar sesión", "Cambiar el correo de mi cuenta", "Cerrar mi cuenta"],
        "Other": ["Pregunta sobre el horario", "Opinión sobre el nuevo diseño", "Consulta de colaboración"],
    },
    "de": {
        "Billing": ["Doppelt abgebucht", "Rückerstattung nicht erhalten", "Falscher Betrag auf der Rechnung"],
        "Technical": [
            "App stürzt beim Start ab",
            "Dateien lassen sich nicht hochladen",
            "Synchronisierung funktioniert nicht",
        ],
        "Account": ["Anmeldung nicht möglich", "E-Mail-Adresse im Konto ändern", "Konto kündigen"],
        "Other": ["Frage zu den Öffnungszeiten", "Rückmeldung zum neuen Design", "Anfrage zur Zusammenarbeit"],
    },
    "fr": {
        "Billing": ["Prélevé deux fois ce mois-ci", "Remboursement non reçu", "Montant erroné sur ma facture"],
        "Technical": [
            "L'application plante au démarrage",
            "Impossible de téléverser des fichiers",
            "La synchronisation ne marche plus",
        ],
        "Account": ["Impossible de me connecter", "Changer l'adresse e-mail du compte", "Fermer mon compte"],
        "Other": ["Question sur vos horaires", "Avis sur le nouveau design", "Demande de partenariat"],
    },
    "pt": {
        "Billing": ["Cobrança duplicada este mês", "Reembolso não recebido", "Valor errado na fatura"],
        "Technical": ["O aplicativo fecha ao abrir", "Não consigo enviar arquivos", "A sincronização parou"],
        "Account": ["Não consigo entrar", "Alterar o e-mail da conta", "Encerrar minha conta"],
        "Other": ["Dúvida sobre o horário", "Opinião sobre o novo design", "Proposta de parceria"],
    },
    "it": {
        "Billing": ["Addebito doppio questo mese", "Rimborso non ricevuto", "Importo errato in fattura"],
        "Technical": ["L'app si chiude all'avvio", "Non riesco a caricare file", "La sincronizzazione non funziona"],
        "Account": ["Non riesco ad accedere", "Cambiare l'email dell'account", "Chiudere il mio account"],
        "Other": ["Domanda sugli orari", "Commento sul nuovo design", "Richiesta di collaborazione"],
    },
}

PROBLEMS = {
    "en": {
        "Billing": [
            "My card was charged twice for the same subscription.",
            "I cancelled last month but I was still billed.",
            "The invoice shows a higher price than the plan I chose.",
        ],
        "Technical": [
            "The desktop app closes as soon as I open a project.",
            "Uploads stop at 99% and then fail with a timeout.",
            "Changes made on my phone never appear on my laptop.",
        ],
        "Account": [
            "The password reset link says it has expired.",
            "I need to move my account to a new email address.",
            "Please delete my account and all my data.",
        ],
        "Other": [
            "Are you open on public holidays?",
            "I wanted to say the new layout is much easier to use.",
            "We would like to discuss a reseller agreement.",
        ],
    },
    "es": {
        "Billing": [
            "Me cobraron dos veces la misma suscripción.",
            "Cancelé el mes pasado pero me siguen cobrando.",
            "La factura muestra un precio mayor que el de mi plan.",
        ],
        "Technical": [
            "La aplicación de escritorio se cierra al abrir un proyecto.",
            "Las subidas se detienen al 99% y fallan por tiempo de espera.",
            "Los cambios del móvil no aparecen en el portátil.",
        ],
        "Account": [
            "El enlace para restablecer la contraseña ha caducado.",
            "Necesito pasar mi cuenta a un correo nuevo.",
            "Por favor eliminen mi cuenta y todos mis datos.",
        ],
        "Other": [
            "¿Abren los días festivos?",
            "Quería decir que el nuevo diseño es mucho más cómodo.",
            "Nos gustaría hablar de un acuerdo de distribución.",
        ],
    },
    "de": {
        "Billing": [
            "Meine Karte wurde für dasselbe Abo zweimal belastet.",
            "Ich habe letzten Monat gekündigt und wurde trotzdem belastet.",
            "Die Rechnung zeigt einen höheren Preis als mein Tarif.",
        ],
        "Technical": [
            "Die Desktop-App schließt sich, sobald ich ein Projekt öffne.",
            "Uploads bleiben bei 99 % stehen und brechen dann ab.",
            "Änderungen auf dem Handy erscheinen nie auf dem Laptop.",
        ],
        "Account": [
            "Der Link zum Zurücksetzen des Passworts ist abgelaufen.",
            "Ich möchte mein Konto auf eine neue E-Mail-Adresse umstellen.",
            "Bitte löschen Sie mein Konto und alle meine Daten.",
        ],
        "Other": [
            "Haben Sie an Feiertagen geöffnet?",
            "Das neue Layout ist viel übersichtlicher, danke.",
            "Wir würden gern über eine Partnerschaft sprechen.",
        ],
    },
    "fr": {
        "Billing": [
            "Ma carte a été débitée deux fois pour le même abonnement.",
            "J'ai résilié le mois dernier mais j'ai encore été facturé.",
            "La facture indique un prix plus élevé que mon forfait.",
        ],
        "Technical": [
            "L'application se ferme dès que j'ouvre un projet.",
            "Les envois s'arrêtent à 99 % puis échouent.",
            "Les modifications faites sur mon téléphone n'apparaissent pas sur mon ordinateur.",
        ],
        "Account": [
            "Le lien de réinitialisation du mot de passe a expiré.",
            "Je dois transférer mon compte vers une nouvelle adresse e-mail.",
            "Merci de supprimer mon compte et toutes mes données.",
        ],
        "Other": [
            "Êtes-vous ouverts les jours fériés ?",
            "Je voulais dire que la nouvelle interface est bien plus simple.",
            "Nous aimerions discuter d'un accord de revente.",
        ],
    },
    "pt": {
        "Billing": [
            "Meu cartão foi cobrado duas vezes pela mesma assinatura.",
            "Cancelei no mês passado mas continuo sendo cobrado.",
            "A fatura mostra um preço maior do que o meu plano.",
        ],
        "Technical": [
            "O aplicativo de desktop fecha quando abro um projeto.",
            "Os envios param em 99% e depois falham.",
            "As alterações feitas no celular não aparecem no notebook.",
        ],
        "Account": [
            "O link de redefinição de senha expirou.",
            "Preciso mudar minha conta para um novo e-mail.",
            "Por favor excluam minha conta e todos os meus dados.",
        ],
        "Other": [
            "Vocês abrem nos feriados?",
            "Queria dizer que o novo layout ficou muito melhor.",
            "Gostaríamos de conversar sobre uma parceria de revenda.",
        ],
    },
    "it": {
        "Billing": [
            "La mia carta è stata addebitata due volte per lo stesso abbonamento.",
            "Ho disdetto il mese scorso ma mi è stato addebitato comunque.",
            "La fattura riporta un prezzo più alto del mio piano.",
        ],
        "Technical": [
            "L'app desktop si chiude appena apro un progetto.",
            "I caricamenti si fermano al 99% e poi falliscono.",
            "Le modifiche fatte sul telefono non compaiono sul portatile.",
        ],
        "Account": [
            "Il link per reimpostare la password è scaduto.",
            "Devo spostare il mio account su un nuovo indirizzo email.",
            "Per favore cancellate il mio account e tutti i miei dati.",
        ],
        "Other": [
            "Siete aperti nei giorni festivi?",
            "Volevo dire che il nuovo layout è molto più comodo.",
            "Vorremmo parlare di un accordo di rivendita.",
        ],
    },
}

# "{pii}" is replaced by an email address or a phone number.
CONTACT_SENTENCES = {
    "en": ["You can reach me at {pii}.", "My contact is {pii}.", "Please call or write to {pii}."],
    "es": ["Pueden contactarme en {pii}.", "Mi contacto es {pii}.", "Escríbanme o llámenme al {pii}."],
    "de": ["Sie erreichen mich unter {pii}.", "Meine Kontaktdaten: {pii}.", "Bitte melden Sie sich unter {pii}."],
    "fr": ["Vous pouvez me joindre au {pii}.", "Mon contact est {pii}.", "Merci de me répondre à {pii}."],
    "pt": ["Podem me contatar em {pii}.", "Meu contato é {pii}.", "Por favor liguem ou escrevam para {pii}."],
    "it": ["Potete contattarmi a {pii}.", "Il mio contatto è {pii}.", "Scrivetemi o chiamatemi al {pii}."],
}

# Look-alikes of PII that must survive redaction ("{n}" is a random number).
HARD_NEGATIVES = [
    "Order ORD-{n} is affected.",
    "I am on version 2.{n}.4.",
    "Invoice INV-2026-{n} shows it.",
    "The error code is E{n}.",
    "It started on 2026-03-14 at 10:32.",
    "Reference #{n}.",
]

FIRST_NAMES = ["anna", "ben", "carla", "david", "elena", "felix", "giulia", "hugo", "ines", "jonas", "lucia", "marc"]
LAST_NAMES = ["smith", "garcia", "muller", "martin", "silva", "rossi", "dubois", "schmidt", "lopez", "costa"]
EMAIL_DOMAINS = ["example.com", "mail.example.org", "correo.example.es", "post.example.de", "courriel.example.fr"]

CHANNELS = ["email", "chat", "web"]

# Sentences carrying rarer PII, per kind and language ("{pii}" is the value).
PII_SENTENCES = {
    "credit_card": {
        "en": "My card {pii} was charged.",
        "es": "Mi tarjeta {pii} fue cobrada.",
        "de": "Meine Karte {pii} wurde belastet.",
        "fr": "Ma carte {pii} a été débitée.",
        "pt": "Meu cartão {pii} foi cobrado.",
        "it": "La mia carta {pii} è stata addebitata.",
    },
    "iban": {
        "en": "Please refund to IBAN {pii}.",
        "es": "Reembolsen al IBAN {pii}, por favor.",
        "de": "Bitte auf IBAN {pii} erstatten.",
        "fr": "Merci de rembourser sur l'IBAN {pii}.",
        "pt": "Reembolsem no IBAN {pii}.",
        "it": "Rimborsate sull'IBAN {pii}.",
    },
    "ip_address": {
        "en": "My IP address is {pii}.",
        "es": "Mi dirección IP es {pii}.",
        "de": "Meine IP-Adresse ist {pii}.",
        "fr": "Mon adresse IP est {pii}.",
        "pt": "Meu endereço IP é {pii}.",
        "it": "Il mio indirizzo IP è {pii}.",
    },
    "us_ssn": {
        "en": "My SSN is {pii} if you need it.",
        "es": "Mi SSN es {pii}.",
        "de": "Meine SSN lautet {pii}.",
        "fr": "Mon SSN est {pii}.",
        "pt": "Meu SSN é {pii}.",
        "it": "Il mio SSN è {pii}.",
    },
}
