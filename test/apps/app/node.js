// The same orders in Node: prints the result as JSON.
import { orders } from './orders.js'

orders().then((result) => console.log(JSON.stringify(result)))
